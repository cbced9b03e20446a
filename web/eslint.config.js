// Lint of the portal's scripts and their unit tests; make test runs it
// (eslint --max-warnings 0 . in web/). Beyond the recommended rules: those
// that catch real mistakes (== instead of ===, a browser global such as
// `status` or `name` used where a variable of ours was meant, a value
// used before it is defined) and the portal's own rule that text from the
// API never reaches the DOM as HTML.
import js from '@eslint/js';
import globals from 'globals';

// Browser globals that are also common variable names: without this, a
// missing declaration of `status` or `name` would silently read the
// window's.
const confusingGlobals = [
  'addEventListener', 'blur', 'close', 'closed', 'confirm', 'defaultStatus', 'event', 'external', 'find',
  'focus', 'frameElement', 'frames', 'innerHeight', 'innerWidth', 'length', 'locationbar', 'menubar',
  'moveBy', 'moveTo', 'name', 'onblur', 'onerror', 'onfocus', 'onload', 'onresize', 'onunload', 'open', 'opener', 'opera', 'outerHeight', 'outerWidth', 'pageXOffset',
  'pageYOffset', 'parent', 'print', 'removeEventListener', 'resizeBy', 'resizeTo', 'screen', 'screenLeft',
  'screenTop', 'screenX', 'screenY', 'scroll', 'scrollbars', 'scrollBy', 'scrollTo', 'scrollX', 'scrollY',
  'self', 'status', 'statusbar', 'stop', 'toolbar', 'top',
].map((g) => ({ name: g, message: `Use window.${g} if the browser's global is meant.` }));

// The modules the unit tests (test/*.test.js) import under Node.js: no
// browser globals and no imports but each other, so that DOM access
// cannot creep into them.
const pure = ['cache', 'capabilities', 'form-errors', 'format', 'pool', 'request-steps', 'stale', 'survey-values', 'wire'];
const pureFiles = pure.map((m) => `static/js/${m}.js`);

// Ways to parse a string as HTML: the portal builds elements with text
// only (ui.js's h), so nothing the API sends can become markup.
const htmlSinks = ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'createContextualFragment']
  .map((property) => ({ property, message: 'Build elements with h() and text; never parse strings as HTML.' }));

export default [
  { ignores: ['node_modules/', 'static/icons/'] },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: 'error',
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'all' }],
      'no-use-before-define': ['error', { functions: false, classes: true, variables: false }],
      'no-shadow': ['error', { builtinGlobals: false, hoist: 'functions' }],
      'no-restricted-globals': ['error', ...confusingGlobals],
      'no-restricted-properties': ['error', ...htmlSinks,
        { object: 'document', property: 'write', message: 'Build elements with h() and text.' }],
      // A variable read before an await and written after it: an answer
      // that may be stale (see stale.js).
      'require-atomic-updates': ['error', { allowProperties: true }],
      'array-callback-return': 'error',
      'no-constructor-return': 'error',
      'no-promise-executor-return': 'error',
      'no-self-compare': 'error',
      'no-template-curly-in-string': 'error',
      'no-unmodified-loop-condition': 'error',
      'no-unreachable-loop': 'error',
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-script-url': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    files: ['static/js/**/*.js'],
    ignores: pureFiles,
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
  {
    files: pureFiles,
    languageOptions: { sourceType: 'module', globals: { URLSearchParams: 'readonly' } },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['*', ...pure.map((m) => `!./${m}.js`)], message: 'A pure module imports only other pure modules (eslint.config.js).' }],
      }],
    },
  },
  {
    // A classic script (signin.html loads it with defer).
    files: ['static/js/signin.js'],
    languageOptions: { sourceType: 'script' },
  },
  {
    files: ['test/**/*.js', 'eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
];
