; boot/start32.asm — the 32-bit path every boot protocol converges on.
;
; In:  ESI = protocol id (BOOT_PROTO_*), EDI = protocol's boot info pointer,
;      32-bit protected mode, paging off, interrupts off (the entry did cli).
; Does, in order:
;   1. records the TSC at entry (boot time is measured from here),
;   2. checks CPUID for long mode (and PAE); prints a message on COM1 and
;      halts when missing,
;   3. zeroes .bss and sets up the boot stack,
;   4. identity-maps RAM: with 1 GiB pages (CPUID 80000001h:EDX[26]) every
;      GiB up to the top of RAM the loader reports (at least 4 GiB, which
;      holds the local APIC, IOAPIC and PCI holes; at most 512 GiB); without
;      them the first 4 GiB with 2 MiB pages, and kernel/paging.c extends the
;      map past 4 GiB in C. Pages past the end of kernel text are NX where
;      the CPU has NX (Intel SDM vol. 3A, 4.5 "4-level paging"),
;   5. enables PAE, SSE (OSFXSR), NX, long mode and paging, loads the 64-bit
;      GDT and far-jumps to 64-bit code (SDM vol. 3A, 10.8.5 "Initializing
;      IA-32e mode"),
;   6. starts the other CPUs (ap_trampoline.asm: they park in long mode,
;      and kernel/smp.c releases them), without waiting for them,
;   7. calls kernel_main(&boot_handoff) on the boot stack, with RBP = 0 so
;      that every frame-pointer walk ends there.

bits 32

COM1            equ 0x3F8
PAGE_PRESENT    equ 1 << 0
PAGE_WRITE      equ 1 << 1
PAGE_LARGE      equ 1 << 7
PAGE_NX_HIGH    equ 1 << 31         ; bit 63, seen from the high dword

CR0_MP          equ 1 << 1
CR0_EM          equ 1 << 2
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
CR4_OSFXSR      equ 1 << 9
CR4_OSXMMEXCPT  equ 1 << 10
MSR_EFER        equ 0xC0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11

BOOT_STACK_SIZE equ 32768

extern kernel_main
extern ap_wake_all
extern __bss_start
extern __bss_end
extern __text_end

global start32_common
global start32_fail
global boot_handoff
global boot_pml4
global boot_pdpt
global boot_pd
global boot_stack_bottom
global boot_stack_top

section .boot.text progbits alloc exec nowrite align=16

start32_common:
    ; 2. Long mode? CPUID 80000000h gives the highest extended leaf;
    ;    80000001h:EDX[29] is LM, 1:EDX[6] is PAE.
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode
    mov ebp, edx                    ; keep 80000001h:EDX for NX / 1 GiB pages

    ; 1. TSC at entry (after the checks: a CPU without long mode may also
    ;    lack RDTSC). The handoff lives in .data, which is not zeroed.
    rdtsc
    mov [boot_handoff + 8], eax
    mov [boot_handoff + 12], edx
    mov [boot_handoff + 0], esi     ; protocol
    mov [boot_handoff + 4], edi     ; boot info pointer

    ; 3. Zero .bss (page tables and the stack are in it), then the stack.
    mov edi, __bss_start
    mov ecx, __bss_end
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd
    mov esp, boot_stack_top

    ; 4. Page tables.
    call find_ram_top               ; EAX = GiB to map (4..512)
    mov ebx, eax
    xor edi, edi                    ; EDI = NX mask for the high dword
    test ebp, 1 << 20
    jz .nx_done
    mov edi, PAGE_NX_HIGH
.nx_done:
    mov eax, boot_pdpt
    or eax, PAGE_PRESENT | PAGE_WRITE
    mov [boot_pml4], eax

    test ebp, 1 << 26               ; 1 GiB pages?
    jz .map_2m

    ; One PDPT entry per GiB: entry i maps i << 30. The high dword carries
    ; address bits 32.. (i >> 2) and NX for every GiB but the first, which
    ; holds the kernel.
    xor ecx, ecx
.map_1g:
    mov eax, ecx
    shl eax, 30
    or eax, PAGE_PRESENT | PAGE_WRITE | PAGE_LARGE
    mov edx, ecx
    shr edx, 2
    test ecx, ecx
    jz .map_1g_exec
    or edx, edi
.map_1g_exec:
    mov [boot_pdpt + ecx * 8], eax
    mov [boot_pdpt + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, ebx
    jb .map_1g
    mov dword [boot_handoff + 16], ebx  ; GiB mapped by the stub
    jmp .paging_on

.map_2m:
    ; Four page directories, 2048 entries of 2 MiB: the first 4 GiB.
    ; Entries at or past the 2 MiB boundary after kernel text get NX.
    mov eax, __text_end
    add eax, (1 << 21) - 1
    shr eax, 21
    mov esi, eax                    ; ESI = first 2 MiB page without code
    xor ecx, ecx
.pdpt_2m:
    mov eax, ecx
    shl eax, 12
    add eax, boot_pd
    or eax, PAGE_PRESENT | PAGE_WRITE
    mov [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .pdpt_2m
    xor ecx, ecx
.map_2m_loop:
    mov eax, ecx
    shl eax, 21
    or eax, PAGE_PRESENT | PAGE_WRITE | PAGE_LARGE
    xor edx, edx
    cmp ecx, esi
    jb .map_2m_exec
    mov edx, edi
.map_2m_exec:
    mov [boot_pd + ecx * 8], eax
    mov [boot_pd + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, 2048
    jb .map_2m_loop
    mov dword [boot_handoff + 16], 4

.paging_on:
    ; 5. PAE + SSE, CR3, EFER.LME (+NXE), then paging.
    mov eax, cr4
    or eax, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT
    mov cr4, eax
    mov eax, boot_pml4
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    test edi, edi
    jz .efer_write
    or eax, EFER_NXE
.efer_write:
    wrmsr
    mov eax, cr0
    and eax, ~CR0_EM
    or eax, CR0_PG | CR0_WP | CR0_MP
    mov cr0, eax
    lgdt [gdt64_pointer]
    jmp 0x08:long_mode_entry

.no_long_mode:
    mov esi, msg_no_long_mode
    ; fall through

; Print the NUL-terminated string at ESI on COM1 and halt for good.
start32_fail:
    mov dx, COM1 + 1                ; interrupts off
    xor al, al
    out dx, al
    mov dx, COM1 + 3                ; DLAB on, divisor 1 = 115200 baud
    mov al, 0x80
    out dx, al
    mov dx, COM1
    mov al, 1
    out dx, al
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3                ; 8N1, DLAB off
    mov al, 0x03
    out dx, al
.next_char:
    lodsb
    test al, al
    jz .halt
    mov ah, al
    mov dx, COM1 + 5
.wait_thre:
    in al, dx
    test al, 0x20
    jz .wait_thre
    mov dx, COM1
    mov al, ah
    out dx, al
    jmp .next_char
.halt:
    mov dx, 0xF4                    ; isa-debug-exit under QEMU: status 126
    mov eax, 126
    out dx, eax
.forever:
    cli
    hlt
    jmp .forever

; Highest end of usable RAM from the boot information, in GiB rounded up,
; clamped to [4, 512]. Reads the multiboot 1 memory map (mmap, flags bit 6)
; or mem_upper (flags bit 0); other protocols map the 4 GiB minimum here and
; let C extend. Out: EAX. Clobbers ECX, EDX; keeps EBX, ESI, EDI, EBP.
find_ram_top:
    push ebx
    push esi
    push edi
    xor esi, esi                    ; ESI:EDI = top (high:low)
    xor edi, edi
    cmp dword [boot_handoff + 0], 1 ; BOOT_PROTO_MULTIBOOT1
    jne .clamp
    mov ebx, [boot_handoff + 4]
    test dword [ebx], 1 << 6
    jz .mem_upper
    mov ecx, [ebx + 48]             ; mmap_addr
    mov eax, [ebx + 44]             ; mmap_length
    lea eax, [ecx + eax]
    push eax                        ; end of the map
.entry:
    cmp ecx, [esp]
    jae .map_done
    cmp dword [ecx + 20], 1         ; type 1 = available RAM
    jne .skip
    mov eax, [ecx + 4]              ; base
    mov edx, [ecx + 8]
    add eax, [ecx + 12]             ; + length
    adc edx, [ecx + 16]
    cmp edx, esi
    jb .skip
    ja .raise
    cmp eax, edi
    jbe .skip
.raise:
    mov esi, edx
    mov edi, eax
.skip:
    add ecx, [ecx]                  ; entry size excludes the size field
    add ecx, 4
    jmp .entry
.map_done:
    pop eax
    jmp .clamp
.mem_upper:
    test dword [ebx], 1 << 0
    jz .clamp
    mov eax, [ebx + 8]              ; KiB above 1 MiB
    add eax, 1024
    mov ecx, 1024
    mul ecx
    mov esi, edx
    mov edi, eax
.clamp:
    ; GiB = ceil(top / 2^30) = (top + 2^30 - 1) >> 30
    add edi, (1 << 30) - 1
    adc esi, 0
    cmp esi, 128                    ; >= 512 GiB
    jae .max
    mov eax, esi
    shl eax, 2
    shr edi, 30
    or eax, edi
    cmp eax, 4
    jae .done
    mov eax, 4
    jmp .done
.max:
    mov eax, 512
.done:
    pop edi
    pop esi
    pop ebx
    ret

bits 64
long_mode_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, boot_stack_top
    xor ebp, ebp                    ; the frame chain ends here
    rdtsc                           ; boot trace: TSC before and after
    mov [boot_handoff + 24], eax
    mov [boot_handoff + 28], edx
    call ap_wake_all                ; APs start and park while we go on
    rdtsc
    mov [boot_handoff + 32], eax
    mov [boot_handoff + 36], edx
    mov rdi, boot_handoff
    call kernel_main
.hang:
    cli
    hlt
    jmp .hang

section .boot.data progbits alloc noexec write align=16
align 16
gdt64:
    dq 0                            ; null
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code, DPL 0
    dq 0x00CF92000000FFFF           ; 0x10: data
gdt64_end:
gdt64_pointer:
    dw gdt64_end - gdt64 - 1
    dq gdt64

msg_no_long_mode:
    db "zebu: this CPU has no 64-bit long mode (CPUID 80000001h:EDX bit 29); Zebu needs x86-64. Halting.", 13, 10, 0

section .data
align 16
; struct boot_handoff (kernel/boot.h): filled by the 32-bit path.
boot_handoff:
    dd 0                            ; +0  protocol (BOOT_PROTO_*)
    dd 0                            ; +4  protocol's boot info pointer
    dq 0                            ; +8  TSC at entry
    dd 0                            ; +16 GiB identity-mapped by the stub
    dd 0                            ; +20 reserved
    dq 0                            ; +24 TSC before starting the APs
    dq 0                            ; +32 TSC after sending their IPIs

section .bss
align 4096
boot_pml4:  resb 4096
boot_pdpt:  resb 4096
boot_pd:    resb 4 * 4096
boot_stack_bottom:
    resb BOOT_STACK_SIZE
boot_stack_top:
