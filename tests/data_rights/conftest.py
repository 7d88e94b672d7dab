import pytest
from django.db import connection

from tests.world import build_world


@pytest.fixture
def worlds(user, other_user, fake_anthropic):
    """The caller's (Alice's) and another user's (Bob's) data, built by ``build_world``."""
    # Foreign keys checked at each statement, not at a commit the test never reaches: a delete
    # that left a dangling reference fails here instead of passing unseen.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return build_world(user, fake_anthropic, marker="ALICEMARK"), build_world(
        other_user, fake_anthropic, marker="BOBMARK"
    )
