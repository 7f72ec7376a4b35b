/**
 * The first module of the CSP test page (test/e2e/csp/app.ts imports it before anything else, and
 * esbuild keeps that order), so its listener is in place before any other code of the page runs:
 * it records every `securitypolicyviolation` the document reports.
 */

/** The fields of a `SecurityPolicyViolationEvent` the test looks at. */
export interface Violation {
  violatedDirective: string
  effectiveDirective: string
  /** `'eval'` for a blocked `eval` / `new Function`, `'inline'` for inline script, else a URL. */
  blockedURI: string
  disposition: string
  sourceFile: string
  lineNumber: number
  sample: string
}

export const violations: Violation[] = []

document.addEventListener('securitypolicyviolation', (e) => {
  violations.push({
    violatedDirective: e.violatedDirective,
    effectiveDirective: e.effectiveDirective,
    blockedURI: e.blockedURI,
    disposition: e.disposition,
    sourceFile: e.sourceFile,
    lineNumber: e.lineNumber,
    sample: e.sample,
  })
})
