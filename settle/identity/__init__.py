"""Who the customer is: verification, app tokens, secrets typed into the chat."""
