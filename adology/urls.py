from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from adology.api import errors, health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("brands.api.urls")),
    path("api/", include("ingestion.api.urls")),
    re_path(r"^api/", errors.not_found_view),  # unknown API paths answer in the API's error shape
    path("", include("adology.dashboard.urls")),
]

if settings.DEBUG:  # local media files (production media is on S3)
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
