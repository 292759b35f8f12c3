from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from profiles.models import MembershipStatus, Profile, Segment


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    live = ~Q(memberships__status=MembershipStatus.EXITED)
    segments = Segment.objects.annotate(size=Count("memberships", filter=live))
    return render(request, "profiles/segment_list.html", {"segments": segments})


@login_required
def profile_list(request: HttpRequest) -> HttpResponse:
    profiles = Profile.objects.order_by("-updated_at").prefetch_related("identities")
    page = Paginator(profiles, 50).get_page(request.GET.get("page"))
    return render(request, "profiles/profile_list.html", {"page": page})
