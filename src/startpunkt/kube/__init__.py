"""Talking to the Kubernetes API: connection, discovery, and list+watch reflectors."""
