// Replaced by the dashboard command (issue 10, in progress).
import SmrtDashboard
