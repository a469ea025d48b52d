# netsim — build, test, benchmark.  `make help` lists the targets.
#
# Sources are found by pattern, so adding a model is a folder under models/
# (plus one line in sim/lua/netsim.c): engine and models go into
# libnetsim.a, Lua bindings (sim/lua/*.c, models/*/lua_*.c) into
# libnetsim_lua.a, and sim/main.c is the command-line front door.

VERSION   := 0.1.0
BUILD     ?= build
CC        ?= gcc
PKGS      := glib-2.0 lua5.4
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CUNIT_LIBS = $(shell pkg-config --libs cunit 2>/dev/null || echo -lcunit)

OPT       ?= -O2
SAN       ?=
CFLAGS    ?= $(OPT) -g
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
             -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
             -ffp-contract=off -fPIC $(WARN) $(CFLAGS) $(SAN) \
             -Iinclude -DNETSIM_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LDLIBS     = $(PKG_LIBS) -lm

# Open MPI is optional (netsim sweep --mpi): used when pkg-config finds it,
# or never with `make MPI=0`.  Only the netsim binary links it; everything
# else (tests, netsim.so, the ASan build) is the same either way.
MPI       ?= $(shell pkg-config --exists ompi-c 2>/dev/null && echo 1 || echo 0)
ifeq ($(MPI),1)
CLUSTER_SRC := sim/cluster_mpi.c
MPI_LIBS    := $(shell pkg-config --libs ompi-c)
$(BUILD)/sim/cluster_mpi.o: ALL_CFLAGS += $(shell pkg-config --cflags ompi-c)
else
CLUSTER_SRC := sim/cluster_nompi.c
MPI_LIBS    :=
endif

ENGINE_SRC := $(filter-out sim/main.c sim/cluster_mpi.c sim/cluster_nompi.c,$(wildcard sim/*.c)) \
              $(filter-out $(wildcard models/*/lua_*.c),$(wildcard models/*/*.c))
LUA_SRC    := $(wildcard sim/lua/*.c) $(wildcard models/*/lua_*.c)
# Lua helpers shipped inside the module, compiled in as a string.
LUA_EMBED  := $(BUILD)/gen/shapes_lua.c
TEST_SRC   := $(wildcard tests/test_*.c) tests/main.c tests/testlua.c tests/testfiles.c tests/tcpworld.c
BENCH_SRC  := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
ENGINE_OBJ := $(call obj,$(ENGINE_SRC))
LUA_OBJ    := $(call obj,$(LUA_SRC)) $(BUILD)/gen/shapes_lua.o
TEST_OBJ   := $(call obj,$(TEST_SRC))
BENCH_OBJ  := $(call obj,$(BENCH_SRC))

.PHONY: all help deps demo check check-quick unit regress regress-update \
        bench plots clean asan
.DEFAULT_GOAL := all

all: $(BUILD)/netsim netsim $(BUILD)/netsim.so $(BUILD)/libnetsim.a

help:
	@echo "make            build ./netsim, build/libnetsim.a, build/netsim.so"
	@echo "make deps       install missing Debian packages (apt-get, as root)"
	@echo "make demo       deps + build + run the default scenario (handshake) into out/handshake"
	@echo "make check      deps + every test: unit (quick+long), regression,"
	@echo "                and the unit suites again under ASan+UBSan"
	@echo "make check-quick  quick unit tests and regression only"
	@echo "make bench      benchmarks, JSON Lines on stdout"
	@echo "make plots      run the plot scenarios and render plots/*.gp to out/plots"
	@echo "make regress-update  rewrite golden regression outputs (deliberately!)"

deps:
	@sh tests/tools/install-deps.sh

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen/shapes_lua.c: sim/lua/shapes.lua
	@mkdir -p $(dir $@)
	@{ echo '/* generated from sim/lua/shapes.lua: do not edit */'; \
	   echo 'extern const char ns__lua_shapes[];'; \
	   echo 'const char ns__lua_shapes[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	   echo ';'; } > $@

$(BUILD)/gen/shapes_lua.o: $(BUILD)/gen/shapes_lua.c
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c $< -o $@

$(BUILD)/libnetsim.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libnetsim_lua.a: $(LUA_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/netsim: $(BUILD)/sim/main.o $(call obj,$(CLUSTER_SRC)) $(BUILD)/libnetsim_lua.a $(BUILD)/libnetsim.a
	$(CC) $(SAN) -o $@ $^ $(LDLIBS) $(MPI_LIBS)

# The user-facing binary at the top of the tree (a copy: works from any cwd).
netsim: $(BUILD)/netsim
	cp $< $@

# The same module for the stock lua5.4 interpreter: require "netsim".
$(BUILD)/netsim.so: $(LUA_OBJ) $(ENGINE_OBJ)
	$(CC) $(SAN) -shared -o $@ $^ $(shell pkg-config --libs glib-2.0) -lm

$(BUILD)/unit: $(TEST_OBJ) $(BUILD)/libnetsim_lua.a $(BUILD)/libnetsim.a
	$(CC) $(SAN) -o $@ $^ $(CUNIT_LIBS) $(LDLIBS)

$(BUILD)/bench: $(BENCH_OBJ) $(BUILD)/libnetsim.a
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

demo: deps
	@$(MAKE) --no-print-directory all
	./netsim scenarios/handshake.lua

unit: $(BUILD)/unit
	$(BUILD)/unit

check: deps
	@$(MAKE) --no-print-directory all $(BUILD)/unit
	@sh tests/tools/check.sh full

check-quick:
	@$(MAKE) --no-print-directory all $(BUILD)/unit
	@sh tests/tools/check.sh quick

# Sanitizer build in its own folder (used by tests/tools/check.sh).
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 MPI=0 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build-asan/unit build-asan/netsim

regress: $(BUILD)/netsim
	@sh tests/tools/regress.sh $(BUILD)/netsim

regress-update: $(BUILD)/netsim
	@sh tests/tools/regress.sh $(BUILD)/netsim --update

# Each benchmark in a fresh process: memory figures must not inherit the
# heap (or the raised mmap threshold) of the benchmarks before them.
bench: $(BUILD)/bench
	@set -e; for b in $$($(BUILD)/bench --list | cut -d' ' -f1); do $(BUILD)/bench $$b; done

plots: all
	@sh tests/tools/plots.sh

clean:
	rm -rf build build-asan netsim out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
