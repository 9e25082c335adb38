"""Files shared in Slack threads: what kind each is, how its bytes become something the model
reads (bot.files.prepare), the cache of prepared files, and the attacher that puts them in a
prompt. Slack-free: the bytes come through a FileSource (bot.slack.files)."""
