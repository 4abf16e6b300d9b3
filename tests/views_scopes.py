"""Views guarded by EverReal scopes, for the decorator, mixin and DRF tests."""

from __future__ import annotations

from django.http import HttpRequest
from django.http import HttpResponse
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views import View
from rest_framework.authentication import BasicAuthentication  # type: ignore[import-untyped]
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request  # type: ignore[import-untyped]
from rest_framework.response import Response  # type: ignore[import-untyped]
from rest_framework.views import APIView  # type: ignore[import-untyped]

from django_everreal.decorators import everreal_token_required
from django_everreal.decorators import scope_required
from django_everreal.drf import EverRealTokenAuthentication
from django_everreal.drf import HasEverRealScopes
from django_everreal.mixins import ScopeRequiredMixin
from django_everreal.models import Company


@scope_required("company_portfolio_all")
def portfolio(request: HttpRequest) -> HttpResponse:
    return HttpResponse("portfolio")


@scope_required("company_portfolio_all", "company_contracting_edit_contract")
def contracts(request: HttpRequest) -> HttpResponse:
    return HttpResponse("contracts")


@scope_required("company_portfolio_all")
async def async_portfolio(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async portfolio")


@scope_required("company_portfolio_all", login_url="/elsewhere/", raise_exception=False)
def portfolio_to_login(request: HttpRequest) -> HttpResponse:
    return HttpResponse("portfolio")


class PortfolioView(ScopeRequiredMixin, View):
    required_scopes = ("company_portfolio_all", "company_user")

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("portfolio view")


class SingleScopeView(ScopeRequiredMixin, View):
    required_scopes = "company_portfolio_all"

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("single scope view")


class AsyncPortfolioView(ScopeRequiredMixin, View):
    required_scopes = ("company_portfolio_all",)

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("async portfolio view")


class UnguardedView(ScopeRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("should never render")


class PortfolioAPI(APIView):  # type: ignore[misc]
    """Session authentication first: DRF answers anonymous requests with 403."""

    permission_classes = (HasEverRealScopes,)
    required_scopes: tuple[str, ...] = ("company_portfolio_all",)

    def get(self, request: Request) -> Response:
        return Response({"portfolio": True})


class BasicPortfolioAPI(PortfolioAPI):
    """Basic authentication first: DRF challenges anonymous requests with 401."""

    authentication_classes = (BasicAuthentication, SessionAuthentication)


class UnguardedAPI(PortfolioAPI):
    required_scopes = ()


class CompanyView(ScopeRequiredMixin, View):
    """A company's page: its customer's users only."""

    required_scopes = ("company_user",)

    def get_permission_object(self) -> Company:
        return get_object_or_404(Company, pk=self.kwargs["pk"])

    def get(self, request: HttpRequest, pk: str) -> HttpResponse:
        return HttpResponse("company")


class AsyncCompanyView(CompanyView):
    async def get(self, request: HttpRequest, pk: str) -> HttpResponse:  # type: ignore[override]
        return HttpResponse("company")


class CompanyAPI(PortfolioAPI):
    required_scopes = ("company_user",)

    def get(self, request: Request, pk: str) -> Response:  # type: ignore[override]
        company = get_object_or_404(Company, pk=pk)
        self.check_object_permissions(request, company)
        return Response({"company": company.pk})


class TokenAPI(APIView):  # type: ignore[misc]
    """An API for single-page and mobile apps: EverReal access tokens as credentials."""

    authentication_classes = (EverRealTokenAuthentication,)
    permission_classes = (HasEverRealScopes,)
    required_scopes: tuple[str, ...] = ("company_user",)

    def get(self, request: Request) -> Response:
        return Response(
            {
                "user": request.user.get_username(),
                "portfolio": request.user.has_perm("everreal.company_portfolio_all"),
            }
        )


class TokenUserinfoAPI(TokenAPI):
    """Calls EverReal with the app's token: ``request.everreal``."""

    def get(self, request: Request) -> Response:
        return Response(
            {"id": request.everreal.get("/accounts/api/userinfo").json()["id"]}
        )


class TenantTokenAPI(TokenAPI):
    required_scopes = ("company_admin",)


@everreal_token_required
def token_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "user": request.user.get_username(),
            "company_user": request.user.has_perm("everreal.company_user"),
        }
    )


@everreal_token_required
async def async_token_view(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse(
        {
            "user": user.get_username(),
            "company_user": await user.ahas_perm("everreal.company_user"),
        }
    )


@everreal_token_required(realm="listings")
@scope_required("company_portfolio_all")
def token_portfolio(request: HttpRequest) -> HttpResponse:
    return HttpResponse("token portfolio")


@everreal_token_required
@scope_required("company_portfolio_all")
async def async_token_portfolio(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async token portfolio")
