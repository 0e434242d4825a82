"""`python -m components.rasa_main run …`: Rasa's own command line, with Settle's fixes to Rasa installed
first (settle/tooling/runner.py starts the Rasa server this way)."""
from rasa.__main__ import main

from components import action_validation

if __name__ == "__main__":
    action_validation.install()
    main()
