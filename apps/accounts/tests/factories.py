from __future__ import annotations

import factory

from apps.accounts.models import Membership, Organisation, OrganisationKind, Role, User


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    code = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"组织{n}")
    name_en = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.CARRIER


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"139{n:08d}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.DRIVER


def member(role: str, organisation: Organisation, *, station=None, **user_fields) -> User:
    """A new user holding ``role`` in ``organisation`` (station staff: at ``station``)."""
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, organisation=organisation, role=role, station=station)
    return user
