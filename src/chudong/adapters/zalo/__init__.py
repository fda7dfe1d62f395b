"""Zalo Notification Service (ZNS) providers."""
