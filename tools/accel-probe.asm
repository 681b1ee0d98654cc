; tools/accel-probe.asm — the image tools/zebu_accel.py boots to check that
; a KVM accelerator really runs guests with a given CPU model before the
; launcher picks it. A multiboot 1 flat image (header flag bit 16: the load
; addresses are in the header, so nasm -f bin needs no linker). It turns SSE
; on (CR0.EM off, CR0.MP and CR4.OSFXSR/OSXMMEXCPT on), runs the kind of
; SSE2 code gcc emits for app code (a double add, a pxor, an unaligned
; vector move and a packed add), checks the result and ends QEMU through
; isa-debug-exit with status 42 (pass) or 43 (wrong result). A KVM that
; cannot run it aborts QEMU, stops with an emulation failure (the launcher's
; timeout) or exits with 43.
bits 32
org 0x100000

MB1_MAGIC equ 0x1BADB002
MB1_FLAGS equ 0x00010000

header:
    dd MB1_MAGIC, MB1_FLAGS, -(MB1_MAGIC + MB1_FLAGS)
    dd header               ; header_addr
    dd header               ; load_addr
    dd image_end            ; load_end_addr
    dd image_end            ; bss_end_addr
    dd start                ; entry_addr

start:
    mov eax, cr0
    and eax, ~(1 << 2)      ; EM: no x87 emulation
    or eax, (1 << 1)        ; MP
    mov cr0, eax
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10) ; OSFXSR, OSXMMEXCPT
    mov cr4, eax
    movsd xmm0, [one]
    addsd xmm0, xmm0        ; 2.0
    ucomisd xmm0, [two]
    jne fail
    pxor xmm1, xmm1
    movdqu xmm2, [ints]
    paddd xmm1, xmm2
    paddd xmm1, xmm2        ; {2, 4, 6, 8}
    movdqu [out], xmm1
    cmp dword [out + 12], 8
    jne fail
    mov eax, 42
    jmp done
fail:
    mov eax, 43
done:
    mov dx, 0xF4
    out dx, eax
.halt:
    cli
    hlt
    jmp .halt

align 16
one:  dq 1.0
two:  dq 2.0
ints: dd 1, 2, 3, 4
out:  times 4 dd 0
image_end:
