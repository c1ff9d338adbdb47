"""Startpunkt: a Kubernetes-native start page."""

__version__ = "0.1.0"
