"""The web app: customers' payment pages, the sandbox checkout and providers' webhooks."""
