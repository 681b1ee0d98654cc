; tests/floor/floor.asm — the do-nothing multiboot kernel that benchmarks
; use as the floor: the loader enters it, it prints one marker line on COM1
; and ends QEMU through isa-debug-exit. Anything Zebu adds on top of this is
; Zebu's own cost. Built by tools/bench-boot.py as a 32-bit ELF.
bits 32
section .text
align 4
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
global _start
_start:
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
