from django.contrib.auth import views as auth_views
from django.urls import path

from adology.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="dashboard/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("brandspaces/<int:brandspace_id>/", views.overview, name="overview"),
    path("brandspaces/<int:brandspace_id>/refresh", views.refresh, name="refresh"),
    path("brandspaces/<int:brandspace_id>/ads/", views.explorer, name="explorer"),
    path("brandspaces/<int:brandspace_id>/ads/cards", views.explorer_cards, name="explorer-cards"),
    path("brandspaces/<int:brandspace_id>/ads/<int:creative_id>/", views.ad_detail, name="ad-detail"),
    path("brandspaces/<int:brandspace_id>/compare/", views.compare, name="compare"),
    path("brandspaces/<int:brandspace_id>/settings/", views.brandspace_settings, name="settings"),
]
