from django.urls import path
from rest_framework.routers import DefaultRouter

from brands.api import views

router = DefaultRouter()
router.register("brandspaces", views.BrandspaceViewSet, basename="brandspace")
router.register("brands", views.BrandViewSet, basename="brand")
router.register("creatives", views.CreativeViewSet, basename="creative")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("me/", views.MeView.as_view(), name="me"),
    *router.urls,
]
