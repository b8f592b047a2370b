"""The province staff's web pages: one module per page or group of pages."""
