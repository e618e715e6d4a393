"""The API's URLs plus the practical-limit views, for benchmark runs (ROOT_URLCONF=bench.urls)."""

from django.urls import path

from bench import limit
from glossary_backend.urls import urlpatterns as api_urlpatterns

urlpatterns = [
    *api_urlpatterns,
    path("limit/term", limit.term_page),
    path("limit/chapter", limit.chapter_page),
    path("limit/chapters", limit.chapters_page),
    path("limit/search", limit.search),
    path("limit/quiz", limit.quiz_page),
    path("limit/analytics", limit.analytics),
    path("limit/submit", limit.submit),
]
