from django.contrib import admin
from django.urls import path

admin.site.site_header = "Glossary administration"
admin.site.site_title = "Glossary admin"

urlpatterns = [
    path("admin/", admin.site.urls),
]
