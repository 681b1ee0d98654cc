"""qprofiler_lib — the parts of tools/qprofiler, the host-side guest profiler.

rsp       GDB remote serial protocol client (QEMU's gdbstub)
qmp       QMP client (the leaf-only fallback)
elfsyms   ELF64 symbol table and code bytes, address lookup, addr2line lines
walk      frame-pointer stack walk over a bulk-read stack window
sampler   the sampling loops (gdbstub and QMP) and their cost accounting
counting  reads PROFILE=count call counters out of guest memory
report    flat profile, call graph, folded stacks, speedscope JSON, JSON summary
flame     the self-contained SVG flame graph
cli       command line: attach to a guest or launch one
bench     what profiling costs the guest (python3 tools/qprofiler_lib/bench.py)
"""
