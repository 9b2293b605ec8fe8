"""A virtual archive room that drives the real server over MQTT and pty serial lines."""
