"""Pure rules over angle series: trials and holds, view checks, compensations (numpy only)."""
