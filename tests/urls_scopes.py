from __future__ import annotations

from django.urls import path

from tests import views_scopes as views

urlpatterns = [
    path("portfolio/", views.portfolio),
    path("contracts/", views.contracts),
    path("async-portfolio/", views.async_portfolio),
    path("portfolio-to-login/", views.portfolio_to_login),
    path("portfolio-view/", views.PortfolioView.as_view()),
    path("single-scope-view/", views.SingleScopeView.as_view()),
    path("async-portfolio-view/", views.AsyncPortfolioView.as_view()),
    path("unguarded-view/", views.UnguardedView.as_view()),
    path("api/portfolio/", views.PortfolioAPI.as_view()),
    path("api/basic-portfolio/", views.BasicPortfolioAPI.as_view()),
    path("api/unguarded/", views.UnguardedAPI.as_view()),
    path("companies/<str:pk>/", views.CompanyView.as_view()),
    path("async-companies/<str:pk>/", views.AsyncCompanyView.as_view()),
    path("api/companies/<str:pk>/", views.CompanyAPI.as_view()),
    path("api/token/", views.TokenAPI.as_view()),
    path("api/token/userinfo/", views.TokenUserinfoAPI.as_view()),
    path("api/token/admin/", views.TenantTokenAPI.as_view()),
    path("token/", views.token_view),
    path("async-token/", views.async_token_view),
    path("token-portfolio/", views.token_portfolio),
    path("async-token-portfolio/", views.async_token_portfolio),
]
