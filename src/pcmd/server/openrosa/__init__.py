"""What ODK Collect talks to: the OpenRosa endpoints and the app users that authenticate them."""
