# The two commands of the README: `make demo` and `make test`.
.PHONY: demo test bench clean

demo:
	@scripts/bootstrap.sh
	.venv/bin/chudong demo

test:
	@scripts/bootstrap.sh
	@scripts/ensure-services.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

bench:
	@scripts/bootstrap.sh
	.venv/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .venv .cache var .pytest_cache
