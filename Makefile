# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test test-quick bench clean

demo:
	@scripts/bootstrap.sh
	.venv/bin/chudong demo

test:
	@scripts/bootstrap.sh
	@scripts/ensure-services.sh
	.venv/bin/python -m pytest -n 2 $(PYTEST_ARGS)

# The developer's quick loop: SQLite only, no browser, no slow scenarios, two processes.
test-quick:
	@scripts/bootstrap.sh
	.venv/bin/python -m pytest -q -n 2 -m "not slow and not browser and not postgres" $(PYTEST_ARGS)

bench:
	@scripts/bootstrap.sh
	.venv/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .venv .cache var .pytest_cache
