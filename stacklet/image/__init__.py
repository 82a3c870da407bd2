"""The image service (Glance v2): images, their data in a file store, sharing."""
