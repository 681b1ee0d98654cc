; tests/floor/floor.asm — the do-nothing kernel that boot benchmarks use as
; the floor: the loader enters it, it prints one marker line on COM1 and
; ends QEMU through isa-debug-exit. Anything Zebu adds on top of this is
; Zebu's own cost. It carries the same entry points as Zebu: a multiboot 1
; header (left out with -DNO_MB1, for the PVH image, as Zebu's .pvh blanks
; its own), a multiboot 2 header and the PVH ELF note. Built by
; tools/boottime and tools/bench-boot.py as a 32-bit ELF.
bits 32
section .text
align 8
%ifndef NO_MB1
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
%endif
align 8
mb2:
    dd 0xE85250D6, 0, mb2_end - mb2, -(0xE85250D6 + (mb2_end - mb2))
    dw 0, 0
    dd 8
mb2_end:
global _start
_start:
pvh_entry:
    mov esi, marker
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3F8
    out dx, al
    jmp .next
.done:
    mov dx, 0xF4
    xor eax, eax
    out dx, eax
.halt:
    cli
    hlt
    jmp .halt
section .data
marker: db "FLOOR-READY", 13, 10, 0
section .note.pvh note alloc noexec nowrite align=4
    dd 4, 8, 18
    db "Xen", 0
    dd pvh_entry, 0
