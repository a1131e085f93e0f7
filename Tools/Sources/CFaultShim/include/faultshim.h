// libPGFaultShim.so is used through LD_PRELOAD only; see faultshim.c for its settings.
