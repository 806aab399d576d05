"""Repository-wide pytest options."""


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden IR files under tests/golden/ instead of comparing with them")
