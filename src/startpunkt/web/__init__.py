"""The HTTP face of Startpunkt: REST API, event stream, pages and health probes."""
