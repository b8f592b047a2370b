"""The JSON API of the web server, for other systems and scripts."""
