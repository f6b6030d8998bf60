from django.apps import AppConfig


class FinaiConfig(AppConfig):
    name = "finai"
    verbose_name = "FinAI core"
