"""The person's habits: the questions agents ask, their wordings, and how Sam answers them."""

from dataclasses import dataclass, field
from datetime import datetime

Answers = tuple[tuple[str, float], ...]


def _uniform(*answers: str) -> Answers:
    return tuple((answer, 1 / len(answers)) for answer in answers)


@dataclass(frozen=True)
class Intent:
    """A kind of question agents ask, its wordings, and how this person answers it.

    ``answers`` holds (reply, probability) pairs. ``friday_answers`` replace them on Fridays from
    ``friday_from_hour`` (local time); ``agent_answers`` replace them for the named agent.
    Wordings and replies may use the placeholders filled by ``generator._Generator.slots``.
    """

    name: str
    wordings: tuple[str, ...]
    answers: Answers
    predictable: bool = True
    friday_answers: Answers = ()
    friday_from_hour: int = 0
    agent_answers: dict[str, Answers] = field(default_factory=dict)
    agents: tuple[str, ...] = ()  # only these agents ask it; empty means all
    stack: str = ""  # "python" or "node": only asked in projects with that stack

    def answers_for(self, *, agent: str, at: datetime) -> Answers:
        """The answer distribution when ``agent`` asks at local time ``at``."""
        if self.friday_answers and at.weekday() == 4 and at.hour >= self.friday_from_hour:
            return self.friday_answers
        return self.agent_answers.get(agent, self.answers)


INTENTS: dict[str, Intent] = {
    intent.name: intent
    for intent in (
        Intent(
            "run_tests",
            (
                "Run the test suite?",
                "Should I run the test suite now?",
                "Want me to run pytest?",
                "Shall I run the tests before we continue?",
                "Do you want me to run the full test suite?",
                "Run the tests?",
                "Should I kick off the tests to check nothing broke?",
            ),
            (("yes, run it", 0.9), ("yes", 0.03), ("yes but only the unit tests", 0.07)),
        ),
        Intent(
            "package_manager",
            (
                "npm or pnpm?",
                "Should I use npm or pnpm to install this?",
                "Which package manager should I use: npm, yarn or pnpm?",
                "Install the new dependency with npm or pnpm?",
                "Do you prefer npm or pnpm for this project?",
            ),
            (("pnpm", 0.97), ("pnpm, always", 0.03)),
            stack="node",
        ),
        Intent(
            "commit",
            (
                "Commit these changes?",
                "Should I commit this?",
                "Want me to commit the changes now?",
                "Ready to commit?",
                "Shall I create a commit for these changes?",
                "Should I commit what we have so far?",
            ),
            (
                ("yes, commit", 0.95),
                ("yes", 0.03),
                ("not yet, I want to review the diff first", 0.02),
            ),
            friday_answers=(("no, leave it for Monday", 0.9), ("yes, commit", 0.1)),
            friday_from_hour=16,
        ),
        Intent(
            "push_main",
            (
                "Should I push to main?",
                "Push directly to main?",
                "Can I push this straight to main?",
                "OK to push these commits to main?",
                "Do you want me to push the changes directly to main?",
            ),
            (("no, open a PR", 0.96), ("no, open a pull request", 0.04)),
        ),
        Intent(
            "push_branch",
            (
                "Push the branch?",
                "Should I push the branch to origin?",
                "Push {branch} to GitHub?",
                "Want me to push {branch} now?",
            ),
            (("yes, push it", 0.95), ("yes", 0.05)),
            friday_answers=(("no, not on a Friday", 0.9), ("yes, push it", 0.1)),
        ),
        Intent(
            "migrations",
            (
                "Run the migrations now?",
                "Should I apply the migrations?",
                "Want me to run manage.py migrate?",
                "Apply the new migrations to the dev database?",
                "The migrations are ready. Run them?",
            ),
            (("yes, but back up the db first", 0.95), ("yes, back up the database first", 0.05)),
            stack="python",
        ),
        Intent(
            "branch_name",
            (
                "Which branch name?",
                "What should I call the branch for {title_lower}?",
                "Which branch should I create for {ticket}?",
                "Branch name for this work?",
                "What do you want the new branch to be called?",
            ),
            (("feat/{slug}", 0.85), ("feat/{ticket_lower}-{slug}", 0.15)),
        ),
        Intent(
            "reinstall",
            (
                "Delete the node_modules and reinstall?",
                "Should I wipe node_modules and reinstall the packages?",
                "Try a clean reinstall of node_modules?",
                "The lockfile looks out of sync. Remove node_modules and install again?",
            ),
            (("yes", 0.95), ("yes, with pnpm", 0.05)),
            stack="node",
        ),
        Intent(
            "indentation",
            (
                "Use tabs or spaces?",
                "Tabs or spaces for indentation?",
                "Should I indent the new file with tabs or spaces?",
                "This file mixes tabs and spaces. Which should I keep?",
            ),
            (("spaces", 0.97), ("spaces, 4 of them", 0.03)),
        ),
        Intent(
            "type_hints",
            (
                "Add type hints?",
                "Should I add type annotations to the new functions?",
                "Want type hints on these helpers?",
                "Do you want me to annotate {file} with types?",
            ),
            (("yes", 0.95), ("yes, everywhere", 0.05)),
        ),
        Intent(
            "format",
            (
                "Run the formatter?",
                "Should I run ruff format on the changed files?",
                "Format the code before committing?",
                "Want me to auto-format {file}?",
            ),
            (("yes", 0.93), ("yes, and ruff check too", 0.07)),
        ),
        Intent(
            "force_push",
            (
                "Force-push to clean up the history?",
                "Should I force push the rebased branch?",
                "Can I do a git push --force?",
            ),
            (("no, never force-push", 0.85), ("only with --force-with-lease", 0.15)),
        ),
        Intent(
            "skip_flaky",
            (
                "This test is flaky. Should I skip it?",
                "Mark the flaky test as skipped?",
                "Want me to add a skip marker to the flaky test in {file}?",
            ),
            (("no, fix it", 0.85), ("no, find out why it's flaky", 0.15)),
        ),
        Intent(
            "overwrite",
            (
                "Overwrite the existing config file?",
                "Should I replace {file} with the new version?",
                "{file} already exists. Overwrite it?",
            ),
            (("no, show me the diff first", 0.85), ("yes", 0.15)),
        ),
        Intent(
            "proceed",
            (
                "Should I proceed with this plan?",
                "Shall I go ahead and make these edits?",
                "Ready for me to apply the changes?",
                "Proceed?",
                "Here is the plan: update {file} and add tests. Go ahead?",
            ),
            (("yes", 1.0),),
            agent_answers={
                "claude-code": (("yes, go ahead", 0.95), ("yes", 0.05)),
                "cursor": (("apply it", 0.95), ("yes", 0.05)),
                "aider": (("y", 0.97), ("yes", 0.03)),
            },
        ),
        Intent(
            "docker_rebuild",
            (
                "Rebuild the docker image?",
                "Should I rebuild the containers with docker compose?",
                "Want me to run docker compose build?",
            ),
            (("yes", 0.7), ("no, just restart the container", 0.3)),
        ),
        Intent(
            "upgrade",
            (
                "Upgrade {package} to the latest major version?",
                "Should I bump {package} to {version}?",
                "There's a new major release of {package}. Upgrade?",
            ),
            (("no, pin the current minor", 0.8), ("yes, if the tests pass", 0.2)),
        ),
        Intent(
            "aider_add_file",
            ("Add {file} to the chat? (Y)es/(N)o/(D)on't ask again [Yes]:",),
            (("y", 0.97), ("n", 0.03)),
            agents=("aider",),
        ),
        Intent(
            "aider_run_command",
            ("Run shell command? {command} (Y)es/(N)o [Yes]:",),
            (("y", 0.93), ("n", 0.07)),
            agents=("aider",),
        ),
        # Open questions: the answers vary, so no predictor should be sure of them.
        Intent(
            "error_message",
            (
                "What should the error message say when the {thing} fails?",
                "How should I word the error shown when the {thing} fails?",
                "Any preference for the user-facing message if the {thing} fails?",
            ),
            _uniform(
                "'Something went wrong with the {thing}, please try again.'",
                "just say it failed and log the details",
                "show the raw error for now",
                "'We couldn't finish the {thing}. Nothing was charged.'",
                "ask Priya, she's writing the copy",
                "keep it short: '{thing_title} failed'",
            ),
            predictable=False,
        ),
        Intent(
            "retries",
            (
                "How many retries should the {service} client do?",
                "What retry policy do you want for {service}?",
            ),
            _uniform(
                "3",
                "three with exponential backoff",
                "just one retry",
                "5, capped at 30 seconds",
                "none, fail fast",
                "whatever the SDK defaults to",
            ),
            predictable=False,
        ),
        Intent(
            "timeout",
            (
                "What timeout should I use for calls to {service}?",
                "Which timeout do you want on the {service} requests?",
            ),
            _uniform(
                "10 seconds",
                "30s",
                "5 seconds, it's user-facing",
                "use the value from settings",
                "2 seconds plus a retry",
                "60s, it's a batch job",
            ),
            predictable=False,
        ),
        Intent(
            "approach",
            (
                "I see two ways to fix this: {option_a} or {option_b}. Which do you prefer?",
                "Option 1: {option_a}. Option 2: {option_b}. Which one?",
            ),
            _uniform(
                "{option_a}",
                "{option_b}",
                "go with {option_a}, it's simpler",
                "{option_b}, but add a test",
                "neither, let me think about it",
                "whichever is the smaller diff",
            ),
            predictable=False,
        ),
        Intent(
            "naming",
            (
                "What should I name the new {thing_kind} for {title_lower}?",
                "Any naming preference for the {thing_kind} that handles {title_lower}?",
            ),
            _uniform(
                "{slug_snake}_{thing_kind}",
                "call it {slug_camel}",
                "{slug_snake}",
                "something short, you pick",
                "match the existing naming in {file}",
                "{slug_camel}{thing_kind_camel}",
            ),
            predictable=False,
        ),
        Intent(
            "log_level",
            (
                "Should this be logged at warning or error level?",
                "What log level for the {thing} failure?",
            ),
            _uniform(
                "warning", "error", "info is enough", "error, and alert on it", "warning for now"
            ),
            predictable=False,
        ),
        Intent(
            "scope",
            (
                "While I'm here, should I also refactor {file}?",
                "{file} could use a cleanup too. Do it in this PR?",
            ),
            _uniform(
                "no, separate PR",
                "yes, go ahead",
                "only if it's small",
                "leave it, add a TODO",
                "not today",
            ),
            predictable=False,
        ),
        Intent(
            "reviewer",
            ("Who should review the PR?", "Which reviewer should I request on the PR?"),
            _uniform(
                "Priya", "ask Tom", "whoever is on call", "Priya and Tom", "no one, it's a draft"
            ),
            predictable=False,
        ),
        Intent(
            "feature_flag",
            (
                "Should {title_lower} be behind a feature flag?",
                "Do you want a feature flag for {title_lower}?",
            ),
            _uniform("yes", "no", "yes, off by default", "no, ship it", "only in production"),
            predictable=False,
        ),
        Intent(
            "ci_only_failure",
            (
                "The {thing} test fails only on CI. What do you want me to do?",
                "CI is red on the {thing} test but it passes locally. How should I proceed?",
            ),
            _uniform(
                "check the CI logs first",
                "rerun it once",
                "compare the Python versions",
                "mark it xfail and open a ticket",
                "look at the timezone, CI runs in UTC",
                "skip it for now and ping me",
            ),
            predictable=False,
        ),
    )
}

AGENTS: tuple[tuple[str, float], ...] = (("claude-code", 0.5), ("cursor", 0.3), ("aider", 0.2))

# How often each intent fills the middle of an agent session (the head and tail are scripted).
MIDDLE_WEIGHTS = {
    "run_tests": 5,
    "package_manager": 6,
    "migrations": 5,
    "reinstall": 3,
    "indentation": 3,
    "type_hints": 5,
    "format": 4,
    "force_push": 2,
    "skip_flaky": 3,
    "overwrite": 3,
    "proceed": 9,
    "docker_rebuild": 3,
    "upgrade": 3,
    "aider_add_file": 14,
    "aider_run_command": 8,
    "error_message": 3,
    "retries": 3,
    "timeout": 3,
    "approach": 4,
    "naming": 3,
    "log_level": 3,
    "scope": 3,
    "reviewer": 2,
    "feature_flag": 2,
    "ci_only_failure": 3,
}
