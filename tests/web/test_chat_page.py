"""The chat widget's page over real HTTP: its settings travel as data, its scripts come from this app."""
from __future__ import annotations

import json
import re

import requests

from settle.config import Settings
from settle.identity import conversations
from tests.web.conftest import serve, web_settings

CONFIG_BLOCK = re.compile(r'<script type="application/json" id="settle-chat-config">(.*?)</script>', re.S)


def chat_config(html: str) -> dict:
    return json.loads(CONFIG_BLOCK.search(html).group(1))


def test_the_help_page_loads_the_widget_with_the_socket_url_as_data(web):
    page = requests.get(f"{web.url}/chat", timeout=10)

    assert page.status_code == 200
    assert f"<title>{web.settings.company_name} — Help</title>" in page.text
    assert chat_config(page.text)["socketUrl"] == web.settings.chat_socket_url
    assert '<script src="/static/vendor/socket.io.min.js" defer></script>' in page.text
    assert '<script src="/static/chat.js" defer></script>' in page.text
    assert '<link rel="stylesheet" href="/static/chat.css">' in page.text
    assert "<script>" not in page.text  # no inline code: the only script block is the JSON one
    assert web.settings.support_phone in page.text  # for whoever can't or won't chat


def test_the_widget_files_are_served_by_the_app_not_fetched_from_the_internet(web):
    client = requests.get(f"{web.url}/static/vendor/socket.io.min.js", timeout=10)
    assert client.status_code == 200, "vendored by `make install` (npm ci in settle/web/widget)"
    assert "javascript" in client.headers["content-type"]
    assert re.search(r"Socket\.IO v4\.8\.\d+", client.text)

    widget = requests.get(f"{web.url}/static/chat.js", timeout=10)
    assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
    assert "window.SettleChat" in widget.text and ".innerHTML" not in widget.text  # messages become DOM nodes

    styles = requests.get(f"{web.url}/static/chat.css", timeout=10)
    assert styles.status_code == 200 and "text/css" in styles.headers["content-type"]
    assert "prefers-reduced-motion" in styles.text


def test_a_socket_url_with_markup_stays_data(web_database):
    hostile = "https://chat.example/</script><script>alert(1)</script>"
    for web in serve(web_settings(web_database, chat_socket_url=hostile)):
        page = requests.get(f"{web.url}/chat", timeout=10)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert chat_config(page.text)["socketUrl"] == hostile


def test_the_socket_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("SETTLE_CHAT_SOCKET_URL", raising=False)
    monkeypatch.setenv("SETTLE_RASA_URL", "http://rasa.internal:5005/")
    assert Settings.from_environment().chat_socket_url == "http://rasa.internal:5005"
    monkeypatch.setenv("SETTLE_CHAT_SOCKET_URL", "https://chat.settle.example/")
    assert Settings.from_environment().chat_socket_url == "https://chat.settle.example"


def test_a_rest_client_gets_a_signed_conversation_id_each_time(web):
    key = conversations.key_for(web.settings)
    first = requests.post(f"{web.url}/chat/conversations", timeout=10)
    second = requests.post(f"{web.url}/chat/conversations", timeout=10)

    assert first.status_code == 200 and set(first.json()) == {"sender"}
    assert conversations.is_issued(key, first.json()["sender"]) and conversations.is_issued(key, second.json()["sender"])
    assert first.json()["sender"] != second.json()["sender"]
    assert requests.get(f"{web.url}/chat/conversations", timeout=10).status_code == 405  # issued on POST only


def test_opened_in_a_language_the_widget_is_told_to_send_it(web):
    assert chat_config(requests.get(f"{web.url}/chat?language=fr", timeout=10).text)["language"] == "fr"
    assert chat_config(requests.get(f"{web.url}/chat?language=nl-BE", timeout=10).text)["language"] == "nl"
    for address in ("/chat", "/chat?language=de", "/chat?language=%3Cscript%3E"):
        assert "language" not in chat_config(requests.get(f"{web.url}{address}", timeout=10).text)
