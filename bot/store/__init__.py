"""Where threads are remembered: DynamoDB and SQLite stores, event claims, LangChain adapter."""
