"""While a person from the team has the chat, the bot stays silent: a policy the ensemble respects."""
from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

#: Intents sent by Settle itself through Rasa's HTTP API (trigger_intent), never typed by a customer.
EXTERNAL_PREFIX = "EXTERNAL_"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class AgentTakeoverPolicy(Policy):
    """Runs the live takeover whatever the rules, forms and stories would do.

    - The console's external events run their action (`events`: intent → action), even in a form. The
      console signs them (`signature_entity`); the actions check the signature, and while an agent has
      the chat an unsigned one (a customer typing `/EXTERNAL_agent_left`) is relayed as any message.
    - While the slot `with_agent` is set, every customer message goes to `action_relay_to_agent`,
      which keeps it for the agent and says nothing.
    - After any of these actions the bot listens again.
    Its priority is above the RulePolicy's, so its predictions win.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": 7,
            "slot": "with_agent",
            "relay_action": "action_relay_to_agent",
            "signature_entity": "console_signature",
            "events": {
                "EXTERNAL_agent_joined": "action_agent_joined",
                "EXTERNAL_agent_message": "action_relay_agent_messages",
                "EXTERNAL_agent_left": "action_agent_left",
            },
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.slot = config["slot"]
        self.relay_action = config["relay_action"]
        self.signature_entity = config.get("signature_entity", "console_signature")
        self.events = dict(config["events"])

    def train(self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn. The (empty) resource is written so that loading the model finds it."""
        with self._model_storage.write_to(self._resource):
            pass
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        latest_action = tracker.latest_action_name
        if latest_action == ACTION_LISTEN_NAME:
            message = tracker.latest_message
            intent = (message.intent.get("name") if message else None) or ""
            signed = bool(message) and any(entity.get("entity") == self.signature_entity for entity in message.entities)
            with_agent = tracker.get_slot(self.slot)
            if intent in self.events and (signed or not with_agent):  # the action checks the signature itself
                probabilities[domain.index_for_action(self.events[intent])] = 1.0
            elif with_agent and (intent in self.events or not intent.startswith(EXTERNAL_PREFIX)):
                probabilities[domain.index_for_action(self.relay_action)] = 1.0
        elif latest_action == self.relay_action or latest_action in self.events.values():
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
