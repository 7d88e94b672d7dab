"""Response headers the browser app relies on: a Content-Security-Policy with no inline script.

X-Frame-Options and Referrer-Policy come from Django's own middleware (settings.py).
"""

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CLONE_CSP:
            response.headers.setdefault("Content-Security-Policy", settings.CLONE_CSP)
        return response
