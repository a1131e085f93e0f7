"""pg-desktop: the reference companion desktop client of PlusGuidanceKit (GTK 4, libadwaita),
on the `plusguidance` Python package."""
APP_ID = "com.plusguidance.Desktop"
