# sitegen — the commands people remember. `make build` and `make test` work on a fresh Debian machine with
# Python 3.11: they create .venv and install what they need (system packages for the browser and server tests
# are installed by .ci/system-packages when run as root).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HASH := $(shell cksum < pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)
SITE ?= .

.PHONY: build serve test check fuzz bench audit audit-images publish clean venv system-packages

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	rm -f $(VENV)/.installed-[0-9]*
	touch $@

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-test-*
	touch $@

venv: $(STAMP)

build: $(STAMP)
	$(PY) -m sitegen build $(SITE)

serve: $(STAMP)
	$(PY) -m sitegen serve $(SITE)

check: $(STAMP)
	$(PY) -m sitegen check $(SITE)

system-packages:
	bash .ci/system-packages

test: $(TEST_STAMP) system-packages
	$(PY) -m pytest

# make fuzz: the property-based fuzz of front matter and site.yaml (tests/test_fuzz.py) at 10,000 examples each,
# at most 5 s an example (FUZZ_EXAMPLES=… for another count); prints Hypothesis' statistics and the slowest example.
fuzz: $(TEST_STAMP)
	$(PY) -m pytest tests/test_fuzz.py -p no:cacheprovider -s -q --hypothesis-profile=fuzz --hypothesis-show-statistics

# Image bytes a 390 px phone at DPR 3 loads on first view (home, a 图片新闻 article, a column article, a gallery;
# budget 150 KB on the first two), then Lighthouse 12.2.3 (npm, run through npx) on the home page, an article and
# /search/?q=妇联, mobile; about a minute. Not part of `make test`: Lighthouse needs Node and is slow. Targets: accessibility,
# best practices, SEO 100; performance >= 95.
audit: audit-images
	CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} $(PY) tests/lighthouse_audit.py $(SITE)/output

audit-images: $(TEST_STAMP)
	$(PY) -m sitegen build $(SITE)
	$(PY) tests/image_weight.py $(SITE)

TARGET ?= production
publish: $(STAMP)
	$(PY) -m sitegen check $(SITE)
	$(PY) -m sitegen build $(SITE) --strict
	$(MAKE) test
	$(PY) -m sitegen deploy --dir $(SITE) --target $(TARGET)

# make bench: sitegen against Pelican and Hugo on the shared corpora (needs ../shared/bench); BENCH_ARGS e.g.
# "--sizes 1000 --runs 3 --photos 0" (then LATENCY_SIZE=1000). Results: bench/results/*.json; the last line
# times save-to-reloaded-page of sitegen serve on the LATENCY_SIZE corpus.
BENCH_ARGS ?=
LATENCY_SIZE ?= 10000
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/serve_latency.py bench/work/corp/sitegen-$(LATENCY_SIZE) -n 7

clean:
	rm -rf output .sitegen-cache tests/artifacts .pytest_cache
