from rest_framework.pagination import PageNumberPagination

from clone_server.errors import ApiError


class DefaultPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (default 50, at most 500). A ``page_size`` that is not a whole
    number from 1 to 500 is a 400, not silently replaced by the default; a page past the end
    is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        value = values[-1]
        if len(values) > 1 or not (value.isascii() and value.isdigit()):
            raise self._bad_page_size(value)
        size = int(value)
        if not 1 <= size <= self.max_page_size:
            raise self._bad_page_size(value)
        return size

    def get_page_number(self, request, paginator):
        value = request.query_params.get(self.page_query_param, "1")
        if not (value.isascii() and value.isdigit()):
            raise ApiError(
                "page must be a whole number from 1.",
                code="invalid_request",
                details=[{"field": "page", "message": "invalid page", "code": "invalid"}],
            )
        return value

    def _bad_page_size(self, value: str) -> ApiError:
        return ApiError(
            f"page_size must be one whole number from 1 to {self.max_page_size}.",
            code="invalid_request",
            details=[{"field": "page_size", "message": "invalid page size", "code": "invalid"}],
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters
