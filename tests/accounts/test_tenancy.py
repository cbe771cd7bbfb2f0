from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Membership
from accounts.selectors import client_list_for_user, user_client, user_is_provider
from accounts.services import api_token_authenticate, api_token_create, user_create_client_member
from engagements.selectors import engagement_list_for_user, engagement_user_can_edit, engagement_user_is_lead
from engagements.services import engagement_assign, engagement_create

pytestmark = pytest.mark.django_db


def test_client_user_sees_only_their_own_clients_engagements(
    engagement, other_client_org, fde, client_member, outsider
):
    other = engagement_create(client=other_client_org, name="Other", lead=fde)
    assert list(engagement_list_for_user(user=client_member)) == [engagement]
    assert list(engagement_list_for_user(user=outsider)) == [other]
    assert set(engagement_list_for_user(user=fde)) == {engagement, other}


def test_provider_sees_every_client_and_a_member_only_their_own(fde, client_member, client_org, other_client_org):
    assert user_is_provider(fde) and not user_is_provider(client_member)
    assert client_list_for_user(user=fde) == [client_org, other_client_org]
    assert client_list_for_user(user=client_member) == [client_org]
    assert user_client(client_member) == client_org
    assert user_client(fde) is None


def test_only_assigned_fdes_edit_and_only_leads_lead(engagement, fde, other_fde, client_admin):
    assert engagement_user_can_edit(engagement=engagement, user=fde)
    assert engagement_user_is_lead(engagement=engagement, user=fde)
    assert not engagement_user_can_edit(engagement=engagement, user=other_fde)
    assert not engagement_user_can_edit(engagement=engagement, user=client_admin)
    engagement_assign(engagement=engagement, user=other_fde)
    assert engagement_user_can_edit(engagement=engagement, user=other_fde)
    assert not engagement_user_is_lead(engagement=engagement, user=other_fde)


def test_a_client_user_cannot_be_assigned_to_an_engagement(engagement, client_member):
    with pytest.raises(ValidationError, match="provider staff"):
        engagement_assign(engagement=engagement, user=client_member)


def test_unknown_membership_role_is_refused_with_the_valid_ones(client_org):
    with pytest.raises(ValidationError, match="client_admin"):
        user_create_client_member(client=client_org, email="x@acme.test", password="pw-123456", role="owner")


def test_membership_roles_are_recorded(client_admin, client_member):
    assert client_admin.membership.role == Membership.Role.ADMIN
    assert client_member.membership.role == Membership.Role.MEMBER


def test_api_token_is_stored_hashed_and_authenticates_until_revoked(fde):
    token, raw = api_token_create(user=fde, name="ci")
    assert raw.startswith("fde_") and raw not in token.digest
    assert api_token_authenticate(raw=raw) == fde
    assert api_token_authenticate(raw=raw + "x") is None
    token.revoked_at = token.created_at
    token.save()
    assert api_token_authenticate(raw=raw) is None
