from django import template

from alerts.selectors import alerts_menu

register = template.Library()


@register.inclusion_tag("alerts/menu.html", takes_context=True)
def notifications_menu(context: template.Context) -> dict:
    """The topbar's notifications menu for the logged-in user."""
    user = context["request"].user
    if not user.is_authenticated:
        return {"hidden": True}
    return {
        **alerts_menu(user=user),
        "request": context["request"],
        "can_edit": context.get("can_edit"),
    }
