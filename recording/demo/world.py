"""The world Sam works in: projects, tickets, teammates, and what shows on screen."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    ticket: str
    slug: str
    title: str


@dataclass(frozen=True)
class Project:
    name: str
    repo: str
    python: bool
    node: bool
    files: tuple[str, ...]
    tasks: tuple[Task, ...]

    @property
    def cwd(self) -> str:
        return f"~/code/{self.name}"


PROJECTS = (
    Project(
        "shop",
        "acme/shop",
        python=True,
        node=True,
        files=(
            "shop/orders/models.py",
            "shop/checkout/services.py",
            "shop/payments/stripe.py",
            "shop/cart/views.py",
            "frontend/src/Cart.tsx",
            "frontend/src/api.ts",
            "tests/test_checkout.py",
        ),
        tasks=(
            Task("SHOP-142", "checkout-retry", "Retry checkout on payment timeout"),
            Task("SHOP-151", "invoice-pdf-export", "Export invoices as PDF"),
            Task("SHOP-163", "cart-discount-codes", "Discount codes in the cart"),
            Task("SHOP-170", "order-search", "Full-text order search"),
            Task("SHOP-174", "stripe-webhook-idempotency", "Idempotent Stripe webhooks"),
            Task("SHOP-181", "guest-checkout", "Guest checkout"),
            Task("SHOP-188", "csv-product-import", "CSV product import"),
        ),
    ),
    Project(
        "dashboard",
        "acme/dashboard",
        python=False,
        node=True,
        files=(
            "src/pages/Usage.tsx",
            "src/components/Chart.tsx",
            "src/lib/api.ts",
            "src/hooks/useTeam.ts",
            "vite.config.ts",
        ),
        tasks=(
            Task("DASH-31", "usage-charts", "Usage charts"),
            Task("DASH-36", "dark-mode", "Dark mode"),
            Task("DASH-40", "team-invites", "Team invites by email"),
            Task("DASH-44", "api-key-page", "API key management page"),
        ),
    ),
    Project(
        "billing",
        "acme/billing",
        python=True,
        node=False,
        files=(
            "billing/plans.py",
            "billing/invoices/tasks.py",
            "billing/tax.py",
            "billing/migrations/0031_proration.py",
            "tests/test_proration.py",
        ),
        tasks=(
            Task("BILL-12", "proration", "Prorated plan changes"),
            Task("BILL-17", "tax-rates", "Per-country tax rates"),
            Task("BILL-21", "dunning-emails", "Dunning emails for failed payments"),
        ),
    ),
)
PROJECT_WEIGHTS = (0.55, 0.25, 0.2)

PACKAGES = (
    ("django", "6.0"),
    ("react", "20"),
    ("stripe", "12.0"),
    ("celery", "6.0"),
    ("vite", "8"),
    ("pydantic", "3.0"),
)
SERVICES = ("Stripe", "the PDF renderer", "Postmark", "the search index", "S3", "the tax API")
THINGS = (
    "payment",
    "CSV import",
    "PDF export",
    "nightly sync",
    "password reset",
    "webhook delivery",
    "image upload",
)
THING_KINDS = ("service", "helper", "serializer", "task", "hook", "component")
OPTIONS = (
    ("a retry in the view", "a Celery task with backoff"),
    ("a database constraint", "a check in the service"),
    ("caching the result", "a faster query"),
    ("a new endpoint", "a flag on the existing one"),
    ("patching the library", "a small wrapper of our own"),
    ("a migration with a default", "a backfill script"),
)
TEAMMATES = ("priya", "tom", "lena", "marc")
NOTES = (
    (0, "I always use pnpm, never npm."),
    (1, "Never push on Fridays."),
    (2, "Back up the db before running any migration."),
    (4, "Branch names: feat/<topic>."),
    (6, "Everything goes through a PR; nothing is pushed straight to main."),
    (9, "Standup moved to 9:45 on Thursdays."),
    (13, "Ask Priya about rotating the Stripe webhook secret."),
    (20, "Spaces, not tabs. Type hints on every new function."),
    (27, "Dentist Thursday 15:00, leave early."),
)
SLACK = (
    ("#shop-dev", "priya: deploy of shop is done, watch the error rate"),
    ("#shop-dev", "tom: anyone seen the flaky checkout test today?"),
    ("#general", "lena: lunch at 12:30?"),
    ("#billing", "marc: finance wants the proration numbers by Friday"),
    ("#incidents", "on-call: elevated 5xx on payments, investigating"),
    ("DM priya", "priya: can you review my PR when you have a minute?"),
)
DOCS = (
    ("Migrations | Django documentation", "Django 5.2 documentation: migrations"),
    ("pnpm install | pnpm", "pnpm install is used to install all dependencies for a project."),
    ("Stripe API Reference - Idempotent requests", "Idempotency keys"),
    ("python - pytest fixture scope - Stack Overflow", "How do fixture scopes interact?"),
    ("Vitest | Getting started", "Vitest is a next generation testing framework"),
)

CODE_SNIPPETS = (
    "def retry_checkout(order: Order, *, attempts: int = 3) -> Payment:\n    ...",
    "class InvoicePdf:\n    def render(self, invoice: Invoice) -> bytes:\n        ...",
    "export function Cart({ items }: CartProps) {\n  const total = useTotal(items)",
    "@pytest.mark.django_db\ndef test_discount_code_applies_once(client):\n    ...",
    "def prorate(plan: Plan, *, changed_at: datetime) -> Decimal:\n    ...",
)
