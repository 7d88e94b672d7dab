from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "clone_server.accounts"
    label = "accounts"
    verbose_name = "Accounts and API keys"
