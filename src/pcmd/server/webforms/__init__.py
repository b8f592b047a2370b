"""ODK Web Forms served by pcmd: volunteers fill forms in a phone browser by their app user's
link, officers fill and reviewers correct records from the web pages; every submission goes
through the one ingest with source `web`."""
