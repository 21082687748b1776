from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "adology.dashboard"
    label = "dashboard"
    verbose_name = "Customer dashboard"
