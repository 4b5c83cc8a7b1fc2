"""Sandboxes that hold untrusted code: the Docker engine connection and the images."""
